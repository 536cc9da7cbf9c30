from simrelay.cli import main

main()
