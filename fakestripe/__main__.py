from fakestripe.server import main

raise SystemExit(main())
