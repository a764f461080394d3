from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("items/<int:item_id>", views.item),
    path("json", views.echo_json),
    path("stream", views.stream),
]
