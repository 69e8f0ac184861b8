from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from apps.common import views as common_views

# Every admin page requires a verified second factor (the staff middleware also enforces it
# for our own staff pages); this makes the admin refuse an unverified session by itself too.
admin.site.__class__ = OTPAdminSite
admin.site.site_header = "Brokerage operations"
admin.site.site_title = "Brokerage operations"

urlpatterns = [
    path("healthz", common_views.healthz, name="healthz"),
    path("readyz", common_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("apps.marketdata.urls")),
    path("", include("apps.api.urls")),
    path("", include("apps.web.urls")),
]
