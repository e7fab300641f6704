"""`python -m bot` is the same CLI as `bdg-bot`."""

from bot.cli.main import main

raise SystemExit(main())
