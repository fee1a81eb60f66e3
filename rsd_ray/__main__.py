import sys

from rsd_ray.cli import main

sys.exit(main())
