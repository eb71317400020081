from rtconfig._cli import main

main()
