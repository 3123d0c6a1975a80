"""``stance analyze``: stance over whole corpora by period, source and actor.

``io`` (inputs and writers), ``stats`` (periods, Wilson intervals), ``settings`` (params,
issuers, metadata table), ``actors`` (the attribution rule), ``batches`` (a batch split, scored
and attributed: the unit of work of both engines), ``plots``, ``spark`` (the Spark engine),
``actor_evaluation`` (the rule against hand labels) and ``stage`` (the local engine, the tables,
the API and the CLI).
"""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "actors": ("attribute", "attribute_article", "compile_actors"),
    "actor_evaluation": ("evaluate_actors",),
    "stage": ("analyze",),
})
