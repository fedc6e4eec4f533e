"""Reads of the registry, always within the units the user may see."""

from refmeter.registry.selectors.base import RecordNotVisible, active_on_filter
from refmeter.registry.selectors.groups import (
    GroupDetail,
    GroupRow,
    group_detail,
    group_get,
    group_history,
    group_rows,
    group_search,
)
from refmeter.registry.selectors.history import (
    ACTION_LABELS,
    EXTRA_FIELD_LABELS,
    HISTORY_SORTS,
    HistoryFilter,
    changes_since,
    history_for_people,
)
from refmeter.registry.selectors.multipliers import (
    MultiplierSpan,
    base_account_subquery,
    group_multiplier_history,
    group_multiplier_on,
    group_point_days,
    max_concurrent,
    multiplier_spans,
)
from refmeter.registry.selectors.pages import GroupPage, group_history_export, group_page
from refmeter.registry.selectors.places import (
    PlaceRef,
    access_point_lookup,
    access_point_number_problem,
    places_by_number,
)
from refmeter.registry.selectors.points import (
    PointRow,
    group_points,
    point_detail,
    point_get,
    point_history,
    point_rows,
    point_rows_iter,
)
from refmeter.registry.selectors.statistics import PointStatistics, point_statistics
from refmeter.registry.selectors.terms import (
    TermsPiece,
    TermsRow,
    TermsRow_,
    group_terms_history,
    group_terms_pieces,
    groups_terms_rows,
    terms_pieces,
)

__all__ = [
    "ACTION_LABELS",
    "EXTRA_FIELD_LABELS",
    "HISTORY_SORTS",
    "GroupDetail",
    "GroupPage",
    "GroupRow",
    "HistoryFilter",
    "MultiplierSpan",
    "PlaceRef",
    "PointRow",
    "PointStatistics",
    "RecordNotVisible",
    "TermsPiece",
    "TermsRow",
    "TermsRow_",
    "access_point_lookup",
    "access_point_number_problem",
    "active_on_filter",
    "base_account_subquery",
    "changes_since",
    "group_detail",
    "group_get",
    "group_history",
    "group_history_export",
    "group_multiplier_history",
    "group_multiplier_on",
    "group_page",
    "group_point_days",
    "group_points",
    "group_rows",
    "group_search",
    "group_terms_history",
    "group_terms_pieces",
    "groups_terms_rows",
    "history_for_people",
    "max_concurrent",
    "multiplier_spans",
    "places_by_number",
    "point_detail",
    "point_get",
    "point_history",
    "point_rows",
    "point_rows_iter",
    "point_statistics",
    "terms_pieces",
]
