"""Where a trace is stored: MLflow 3's ``TraceLocation``.

lanterna stores traces in experiments (``MLFLOW_EXPERIMENT``). The Databricks locations
(inference tables, Unity Catalog schemas) are kept as data so MLflow-written trace infos load
and round-trip unchanged, but nothing is ever written to them.
"""

from __future__ import annotations

from enum import StrEnum

from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class TraceLocationType(StrEnum):
    TRACE_LOCATION_TYPE_UNSPECIFIED = "TRACE_LOCATION_TYPE_UNSPECIFIED"
    MLFLOW_EXPERIMENT = "MLFLOW_EXPERIMENT"
    INFERENCE_TABLE = "INFERENCE_TABLE"
    UC_SCHEMA = "UC_SCHEMA"
    UC_TABLE_PREFIX = "UC_TABLE_PREFIX"


class _Location:
    """A small value object: equal when its fields are, printed with them."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self._fields))

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({fields})"

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self._fields if getattr(self, f) is not None}


class MlflowExperimentLocation(_Location):
    __slots__ = ("experiment_id",)
    _fields = ("experiment_id",)

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = experiment_id

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MlflowExperimentLocation:
        return cls(str(data["experiment_id"]))


class InferenceTableLocation(_Location):
    """A Databricks inference table (``<catalog>.<schema>.<table>``); Databricks only."""

    __slots__ = ("full_table_name",)
    _fields = ("full_table_name",)

    def __init__(self, full_table_name: str) -> None:
        self.full_table_name = full_table_name

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InferenceTableLocation:
        return cls(str(data["full_table_name"]))


class UCSchemaLocation(_Location):
    """A Databricks Unity Catalog schema; Databricks only."""

    __slots__ = ("catalog_name", "schema_name", "table_prefix")
    _fields = ("catalog_name", "schema_name", "table_prefix")

    def __init__(
        self, catalog_name: str, schema_name: str, table_prefix: str | None = None
    ) -> None:
        self.catalog_name = catalog_name
        self.schema_name = schema_name
        self.table_prefix = table_prefix

    @property
    def schema_location(self) -> str:
        return f"{self.catalog_name}.{self.schema_name}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UCSchemaLocation:
        return cls(str(data["catalog_name"]), str(data["schema_name"]), data.get("table_prefix"))


_KINDS: dict[str, tuple[TraceLocationType, type[Any]]] = {
    "mlflow_experiment": (TraceLocationType.MLFLOW_EXPERIMENT, MlflowExperimentLocation),
    "inference_table": (TraceLocationType.INFERENCE_TABLE, InferenceTableLocation),
    "uc_schema": (TraceLocationType.UC_SCHEMA, UCSchemaLocation),
    "uc_table_prefix": (TraceLocationType.UC_TABLE_PREFIX, UCSchemaLocation),
}


class TraceLocation:
    """The location type and, for that type, the location itself (exactly one)."""

    __slots__ = ("type", "mlflow_experiment", "inference_table", "uc_schema", "uc_table_prefix")

    def __init__(
        self,
        type: TraceLocationType | str,
        mlflow_experiment: MlflowExperimentLocation | None = None,
        inference_table: InferenceTableLocation | None = None,
        uc_schema: UCSchemaLocation | None = None,
        uc_table_prefix: UCSchemaLocation | None = None,
    ) -> None:
        try:
            self.type = TraceLocationType(type)
        except ValueError:
            raise MlflowException(
                f"{type!r} is not a valid TraceLocationType. Use one of "
                f"{', '.join(t.value for t in TraceLocationType)}."
            ) from None
        self.mlflow_experiment = mlflow_experiment
        self.inference_table = inference_table
        self.uc_schema = uc_schema
        self.uc_table_prefix = uc_table_prefix
        given = [name for name in _KINDS if getattr(self, name) is not None]
        if len(given) > 1:
            raise MlflowException(
                "Only one of mlflow_experiment, inference_table, uc_schema, "
                "or uc_table_prefix can be provided."
            )
        if given and _KINDS[given[0]][0] is not self.type:
            raise MlflowException(
                f"Trace location type {self.type.value} does not match the provided location "
                f"{getattr(self, given[0])!r}."
            )

    @classmethod
    def from_experiment_id(cls, experiment_id: str) -> TraceLocation:
        # Every TraceInfo builds one: skip the checks, which this combination always passes.
        location = cls.__new__(cls)
        location.type = TraceLocationType.MLFLOW_EXPERIMENT
        location.mlflow_experiment = MlflowExperimentLocation(str(experiment_id))
        location.inference_table = location.uc_schema = location.uc_table_prefix = None
        return location

    @classmethod
    def from_databricks_uc_schema(cls, catalog_name: str, schema_name: str) -> TraceLocation:
        return cls(TraceLocationType.UC_SCHEMA,
                   uc_schema=UCSchemaLocation(catalog_name, schema_name))

    @classmethod
    def from_databricks_uc_table_prefix(
        cls, catalog_name: str, schema_name: str, table_prefix: str
    ) -> TraceLocation:
        return cls(TraceLocationType.UC_TABLE_PREFIX,
                   uc_table_prefix=UCSchemaLocation(catalog_name, schema_name, table_prefix))

    @property
    def experiment_id(self) -> str | None:
        return self.mlflow_experiment.experiment_id if self.mlflow_experiment else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceLocation):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self.__slots__))

    def __repr__(self) -> str:
        parts = [f"type={self.type.value!r}"]
        parts += [f"{name}={getattr(self, name)!r}" for name in _KINDS if getattr(self, name)]
        return f"TraceLocation({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type.value}
        for name in _KINDS:
            location = getattr(self, name)
            if location is not None:
                data[name] = location.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceLocation:
        if not isinstance(data, dict) or "type" not in data:
            raise MlflowException(
                f"A trace location dict needs a 'type' key, got {data!r}; for example "
                '{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}}.'
            )
        locations = {
            name: kind.from_dict(data[name])
            for name, (_, kind) in _KINDS.items() if data.get(name)
        }
        return cls(data["type"], **locations)
