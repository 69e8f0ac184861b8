from django.contrib.auth import views as auth_views
from django.urls import path

from apps.web import desk_views, views

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
    # The trader's desk (desk_views.py).
    path("desk/", desk_views.desk, name="desk"),
    path("desk/<uuid:account_id>/", desk_views.desk, name="desk-account"),
    path("desk/<uuid:account_id>/ticket/", desk_views.desk_ticket, name="desk-ticket"),
    path("desk/<uuid:account_id>/orders/", desk_views.desk_orders, name="desk-orders"),
    path(
        "desk/<uuid:account_id>/orders/<uuid:order_id>/cancel/",
        desk_views.desk_order_cancel,
        name="desk-order-cancel",
    ),
    path(
        "desk/<uuid:account_id>/orders/<uuid:order_id>/replace/",
        desk_views.desk_order_replace,
        name="desk-order-replace",
    ),
    path("desk/<uuid:account_id>/executions/", desk_views.desk_executions, name="desk-executions"),
    path("desk/<uuid:account_id>/positions/", desk_views.desk_positions, name="desk-positions"),
    path("desk/<uuid:account_id>/activity/", desk_views.desk_activity, name="desk-activity"),
    path("desk/<uuid:account_id>/search/", desk_views.desk_search, name="desk-search"),
    path("desk/<uuid:account_id>/watchlist/", desk_views.desk_watchlist, name="desk-watchlist"),
    path("desk/bars/<str:symbol>/", desk_views.desk_bars, name="desk-bars"),
]
