"""WSGI entry point: gunicorn serves HTTP (DESIGN.md section 8 says why not daphne)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

application = get_wsgi_application()
