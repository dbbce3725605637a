from tests.fakes.fal.cli import main

main()
