"""Hand labels: ``file`` (the labels file, its lock and its one writer), ``stage`` (the sentences
table and the ``dataset`` stage: the join and the queue), ``labeler`` (``stance label``),
``labelstudio`` (Label Studio export and import) and ``agreement`` (inter-annotator agreement)."""

from pipeline.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "file": ("LabelFile", "labels_lock", "read_labels", "set_label", "write_labels"),
    "stage": ("SentenceTable", "build_dataset", "join_labels", "read_sentences"),
    "labeler": ("build_queue", "run_session"),
    "labelstudio": ("build_tasks", "parse_export"),
    "agreement": ("agreement", "cohen_kappa"),
})
