from django.urls import path

from refmeter.workorders import exports, views

app_name = "workorders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("orders.xlsx", exports.order_list_export, name="list_export"),
    path("deadlines/", views.archive_deadlines, name="deadlines"),
    path("deadlines.xlsx", exports.archive_deadlines_export, name="deadlines_export"),
    path("new/", views.new_install, name="new_install"),
    path("template.xlsx", views.application_template, name="template"),
    path("groups/<int:group_id>/<str:kind>/", views.group_order_start, name="group_start"),
    path("<int:order_id>/", views.order_detail, name="detail"),
    path("<int:order_id>/lines/import/", views.lines_import, name="lines_import"),
    path("<int:order_id>/lines/change/", views.change_line_add, name="change_line"),
    path("<int:order_id>/lines/<int:line_id>/base/", views.base_line_choose, name="base_line"),
    path("<int:order_id>/lines/<int:line_id>/place/", views.line_place_set, name="line_place"),
    path("<int:order_id>/survey/resolve/", views.survey_resolve, name="survey_resolve"),
    path("<int:order_id>/contract/", views.contract_save, name="contract"),
    path("<int:order_id>/connection/", views.connection_save, name="connection"),
    path("<int:order_id>/closure/", views.closure_save, name="closure"),
    path("<int:order_id>/installation/", views.installation_save, name="installation"),
    path("<int:order_id>/documents/", views.document_upload, name="document_upload"),
    path("<int:order_id>/documents/<int:document_id>/", views.archive_file, name="document_file"),
    path("<int:order_id>/complete/", views.step_complete, name="complete"),
    path("<int:order_id>/return/", views.step_return, name="return"),
    path("<int:order_id>/application/", views.application_edit, name="application_edit"),
    path("<int:order_id>/withdraw/", views.withdraw, name="withdraw"),
    path(
        "<int:order_id>/<str:name>.<str:fmt>",
        views.order_document,
        name="document",
    ),
]
