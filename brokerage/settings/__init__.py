"""Settings, one module per concern, all driven by the environment (see env.py).

Production is not another file but other variables: ``BROKERAGE_ENV=production`` turns debug off
and makes every secret mandatory.
"""

from .base import *  # noqa: F403
from .database import *  # noqa: F403
from .messaging import *  # noqa: F403
from .security import *  # noqa: F403
from .trading import *  # noqa: F403
