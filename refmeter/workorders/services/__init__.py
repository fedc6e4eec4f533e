"""The steps of a work order. Each function checks the actor's role for the step and unit,
runs in one transaction and writes the order's timeline; registry changes go through the
registry's services, citing the order number."""

from refmeter.workorders.selectors import OrderNotVisible
from refmeter.workorders.services.acceptance import (
    ImportSummary,
    order_base_line_choose,
    order_change_line_add,
    order_lines_import,
)
from refmeter.workorders.services.base import (
    ARCHIVE_WORKING_DAYS,
    DOCUMENT_SUFFIXES,
    MAX_DOCUMENT_BYTES,
    Change,
    StepNotAllowed,
    UnableToProgressOrder,
    UnableToSaveStaleOrder,
)
from refmeter.workorders.services.records import (
    INSTALLATION_COLUMNS,
    closure_record,
    connection_record,
    contract_save,
    document_upload,
    installation_dates_import,
    installation_dates_set,
)
from refmeter.workorders.services.starting import (
    Application,
    order_change_from_finding,
    order_group_start,
    order_new_install_start,
)
from refmeter.workorders.services.steps import APPLIED_STEPS, order_step_complete, order_step_return
from refmeter.workorders.services.survey import (
    SurveyResult,
    order_line_place_set,
    order_survey_resolve,
)

__all__ = [
    "APPLIED_STEPS",
    "ARCHIVE_WORKING_DAYS",
    "DOCUMENT_SUFFIXES",
    "INSTALLATION_COLUMNS",
    "MAX_DOCUMENT_BYTES",
    "Application",
    "Change",
    "ImportSummary",
    "OrderNotVisible",
    "StepNotAllowed",
    "SurveyResult",
    "UnableToProgressOrder",
    "UnableToSaveStaleOrder",
    "closure_record",
    "connection_record",
    "contract_save",
    "document_upload",
    "installation_dates_import",
    "installation_dates_set",
    "order_base_line_choose",
    "order_change_from_finding",
    "order_change_line_add",
    "order_group_start",
    "order_line_place_set",
    "order_lines_import",
    "order_new_install_start",
    "order_step_complete",
    "order_step_return",
    "order_survey_resolve",
]
