from rtconfig._cli import run

run()
