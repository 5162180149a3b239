"""Run batfriend locally on 0.0.0.0:8087 (PORT overrides), with an embedded Redis if needed."""

import basic_config  # noqa: F401  (logging and New Relic come first)
from batfriend.local import main

if __name__ == "__main__":
    main()
