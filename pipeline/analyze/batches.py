"""The unit of work of both ``stance analyze`` engines: a batch of articles split, scored and
attributed (:func:`score_batch`) with what a worker holds (:class:`Context`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipeline.analyze.actors import attribute_article, compile_actors
from pipeline.analyze.io import SENTENCE_COLUMNS, Article, check_date, norm_source
from pipeline.analyze.stats import period_of
from pipeline.core.config import StanceError
from pipeline.core.data import LABELS
from pipeline.model.scorer import Scorer
from pipeline.split.io import read_article
from pipeline.split.stage import resolve_params, split_text

__all__ = ["Context", "batches", "score_batch"]


class Context:
    """What a worker needs: the model, the splitter's params, the actor rule, the period kind."""

    def __init__(self, model, split_params: dict | None, who, period: str) -> None:

        self.scorer = Scorer(model)
        if tuple(self.scorer.classes) != LABELS:
            raise StanceError(f"model classes {self.scorer.classes} are not {', '.join(LABELS)}")
        self.split_params = resolve_params(split_params)
        actors, issuers = who                      # (analyze.actors, analyze.issuers)
        self.rule = compile_actors(list(actors))
        self.period = period
        self.issuers = dict(issuers or {})


def score_batch(articles: Iterable[Article], ctx: Context) -> tuple[dict[str, list], list[dict]]:
    """Split, score and attribute a batch of articles (the unit of work of both engines).

    Returns ``(sentences, articles)``: the sentence rows as a dict of column lists
    (:data:`SENTENCE_COLUMNS`) and one count row per article (``article_id, date, source,
    sentences, support, oppose, neutral``; an article without sentences has zeros).
    """

    cols: dict[str, list] = {c: [] for c in SENTENCE_COLUMNS}
    rows: list[dict] = []
    spans: list[tuple[int, int]] = []
    texts: list[str] = []
    for art in articles:
        date, source = art.date, art.source
        if art.path is not None:
            meta, body, offset = read_article(art.path)
            if not date:
                date = check_date(meta.get("date"), f"{art.path}: header '# date:'")
            if not source:
                source = norm_source(meta.get("source"))
            sents = split_text(body, art.article_id, ctx.split_params, None, offset)
        else:
            sents = split_text(art.text, art.article_id, ctx.split_params)
        period = period_of(date, ctx.period)
        start = len(texts)
        stexts = [s["text"] for s in sents]
        texts.extend(stexts)
        actors = attribute_article(stexts, ctx.rule, ctx.issuers.get(source))
        for s, actor in zip(sents, actors):
            cols["article_id"].append(art.article_id)
            cols["sentence_id"].append(s["sentence_id"])
            cols["date"].append(date)
            cols["period"].append(period)
            cols["source"].append(source)
            cols["position"].append(s["position"])
            cols["text"].append(s["text"])
            cols["actor"].append(actor)
        spans.append((start, len(texts)))
        rows.append({"article_id": art.article_id, "date": date, "source": source, "period": period})
    if texts:
        labels, proba = ctx.scorer.score(texts)
        cols["label"] = labels
        for j, lab in enumerate(LABELS):
            cols[f"score_{lab}"] = proba[:, j].tolist()
    for row, (a, b) in zip(rows, spans):
        labs = cols["label"][a:b]
        row["sentences"] = b - a
        for lab in LABELS:
            row[lab] = labs.count(lab)
    return cols, rows


def batches(articles: Iterator[Article], size: int) -> Iterator[list[Article]]:
    batch: list[Article] = []
    for a in articles:
        batch.append(a)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
