from rtconfig.cli import main

main()
