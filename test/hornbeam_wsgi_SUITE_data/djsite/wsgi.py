import os
import warnings
from wsgiref.validate import WSGIWarning, validator

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djsite.settings")
warnings.simplefilter("error", WSGIWarning)
# The project's WSGI application under wsgiref.validate: a PEP 3333 slip by the
# server shows up as a 500 in the suite.
application = validator(get_wsgi_application())
