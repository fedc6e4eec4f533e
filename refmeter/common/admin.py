from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from refmeter.common.models import CalendarDay, CalendarYear, Job


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "note"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["day", "is_working_day", "note"]
    list_filter = ["is_working_day"]
    date_hierarchy = "day"


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "created_at", "progress_done", "progress_total"]
    list_filter = ["kind", "status"]


# The admin sections of the libraries refmeter uses, in the users' language. Their models'
# Meta is theirs (changing it would change their migrations), so the names are given where the
# admin lists them.
LIBRARY_SECTIONS = {
    "axes": _("登录失败限制"),
    "django_tasks_database": _("任务队列"),
}
LIBRARY_LISTS = {
    ("axes", "accessattempt"): _("登录失败尝试"),
    ("axes", "accessfailurelog"): _("登录失败日志"),
    ("axes", "accesslog"): _("登录日志"),
    ("axes", "accessattemptexpiration"): _("登录失败到期"),
    ("django_tasks_database", "dbtaskresult"): _("任务执行结果"),
}
_library_app_list = admin.site.get_app_list


def _app_list_in_chinese(request: HttpRequest, app_label: str | None = None) -> list[Any]:
    app_list = _library_app_list(request, app_label)
    for section in app_list:
        label = section["app_label"]
        section["name"] = LIBRARY_SECTIONS.get(label, section["name"])
        for model in section["models"]:
            key = (label, model["object_name"].lower())
            model["name"] = LIBRARY_LISTS.get(key, model["name"])
    return app_list


admin.site.get_app_list = _app_list_in_chinese  # type: ignore[method-assign]
