from django.contrib.auth import views as auth_views
from django.urls import path

from apps.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/<uuid:account_id>/", views.account_detail, name="account-detail"),
    path("account/login/", auth_views.LoginView.as_view(), name="login"),
    path("account/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("account/otp/setup/", views.otp_setup, name="otp-setup"),
    path("account/otp/verify/", views.otp_verify, name="otp-verify"),
]
