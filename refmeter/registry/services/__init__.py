"""Writes to the registry. Each runs in one transaction and writes its audit entries."""

from refmeter.registry.services.account_numbers import account_numbers_issue
from refmeter.registry.services.base import (
    UnableToActivateSubAccount,
    UnableToAddSubAccounts,
    UnableToCancelSubAccount,
    UnableToChangeRegistry,
    UnableToCreateCustomer,
    UnableToCreateGroup,
    UnableToCreatePlace,
    UnableToIssueAccountNumbers,
    UnableToLoadNearbyIndex,
    UnableToSaveStaleEdit,
    UnableToUpdatePoint,
)
from refmeter.registry.services.groups import (
    GROUP_EDITABLE_FIELDS,
    TERMS_FIELDS,
    PointInput,
    UnableToCloseGroup,
    UnableToUpdateGroup,
    group_close,
    group_create,
    group_update,
)
from refmeter.registry.services.loads import NewGroup, UnableToLoadGroups, groups_load
from refmeter.registry.services.nearby_numbers import (
    NEARBY_HEADERS,
    NEARBY_KIND_WORDS,
    NearbyLoadResult,
    nearby_index_load,
    nearby_resolve,
)
from refmeter.registry.services.points import (
    point_update,
    sub_account_activate,
    sub_account_cancel,
    sub_accounts_add,
)
from refmeter.registry.services.reference_data import (
    CUSTOMER_CHECKS,
    access_point_create,
    customer_create,
    customer_detail_problems,
    device_type_create,
    transformer_area_create,
)

__all__ = [
    "CUSTOMER_CHECKS",
    "GROUP_EDITABLE_FIELDS",
    "NEARBY_HEADERS",
    "NEARBY_KIND_WORDS",
    "TERMS_FIELDS",
    "NearbyLoadResult",
    "NewGroup",
    "PointInput",
    "UnableToActivateSubAccount",
    "UnableToAddSubAccounts",
    "UnableToCancelSubAccount",
    "UnableToChangeRegistry",
    "UnableToCloseGroup",
    "UnableToCreateCustomer",
    "UnableToCreateGroup",
    "UnableToCreatePlace",
    "UnableToIssueAccountNumbers",
    "UnableToLoadGroups",
    "UnableToLoadNearbyIndex",
    "UnableToSaveStaleEdit",
    "UnableToUpdateGroup",
    "UnableToUpdatePoint",
    "access_point_create",
    "account_numbers_issue",
    "customer_create",
    "customer_detail_problems",
    "device_type_create",
    "group_close",
    "group_create",
    "group_update",
    "groups_load",
    "nearby_index_load",
    "nearby_resolve",
    "point_update",
    "sub_account_activate",
    "sub_account_cancel",
    "sub_accounts_add",
    "transformer_area_create",
]
