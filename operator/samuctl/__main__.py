from samuctl.main import main

raise SystemExit(main())
