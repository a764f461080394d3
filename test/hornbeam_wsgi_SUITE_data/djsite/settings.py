"""A minimal Django project (no database) for hornbeam_wsgi_SUITE."""
SECRET_KEY = "hornbeam-test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djsite.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
USE_TZ = True
# Django calls time.tzset() with TIME_ZONE: that changes local time for the whole
# process, the Erlang VM included. UTC keeps the VM's clock as it was.
TIME_ZONE = "UTC"
