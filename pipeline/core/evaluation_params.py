"""The ``evaluate`` section of the params schema (see :mod:`pipeline.core.params`): nested CV, the
keyword baseline, cross-source, cross-target and the learning curve."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.config import StanceError
from pipeline.core.fields import _f

__all__ = ["TARGETS", "CrossSourceParams", "CrossTargetParams", "EvaluateParams", "LearningCurveParams",
           "LexiconParams"]


@dataclass(frozen=True)
class LexiconParams:
    """``evaluate.lexicon``: the keyword baseline."""

    support: list = _f(["impose", "tighten", "enforce", "strengthen", "implement", "toughen", "pressure", "punish",
                       "condemn"], "words", "cues of support for sanctions")
    oppose: list = _f(["ease", "lift", "relax", "relief", "relieve", "loosen", "suspend", "veto", "oppose", "reject",
                      "counterproductive"], "words", "cues of opposition to sanctions")
    negators: list = _f("not no never cannot nor neither without".split(), "words",
                        "a negated cue counts for the other side")


@dataclass(frozen=True)
class CrossSourceParams:
    """``evaluate.cross_source``: train on one kind of document, test on another."""

    enabled: bool = _f(True, "bool", "run the cross-source evaluation")
    kinds: dict = _f({"official": [r"\bun\.org", r"unmultimedia\.org", "usembassy", r"usmission\.gov", r"state\.gov",
                                   r"treasury\.gov", r"house\.gov"],
                      "news": [r"voanews\.com", r"voa\.pangea", r"voatibetan\.com", r"voabangla\.com",
                               r"wikinews\.org"]},
                     "regex_map", "kind -> regexes searched in '<source URL> <article id>'; the first match wins")
    default_kind: str | None = _f("news", "str", "kind of an article that matches none (null: an error)",
                                  nullable=True)
    pairs: list = _f([["official", "news"], ["news", "official"]], "pairs", "[train_kind, test_kind] pairs")


#: Values of the ``target`` column of data/articles_meta.csv: the sanctions regime an article is about.
TARGETS = ("north_korea", "russia", "iran", "cuba", "venezuela", "syria", "myanmar", "sudan", "zimbabwe", "general")


@dataclass(frozen=True)
class CrossTargetParams:
    """``evaluate.cross_target``: train on articles about one sanctions target, test on others."""

    enabled: bool = _f(True, "bool", "run the cross-target evaluation (skipped while the table has no target column)")
    meta: str = _f("data/articles_meta.csv", "str", "table with article_id and the target column (relative to "
                   "the repo root)", nonempty=True)
    column: str = _f("target", "str", "the column naming each article's sanctions target", nonempty=True)
    targets: list = _f(list(TARGETS), "str_list", "the values the column may hold")
    groups: dict = _f({"north_korea": ["north_korea"],
                       "other": ["russia", "iran", "cuba", "venezuela", "syria", "myanmar", "sudan", "zimbabwe"]},
                      "groups", "group name -> targets; an article whose target is in no group is left out")
    pairs: list = _f([["north_korea", "other"], ["other", "north_korea"]], "pairs", "[train_group, test_group] pairs")

    def __post_init__(self) -> None:
        where = "evaluate.cross_target"
        seen: dict[str, str] = {}
        for name, members in self.groups.items():
            for t in members:
                if t not in self.targets:
                    raise StanceError(f"{where}.groups.{name}: {t!r} is not one of {where}.targets")
                if seen.setdefault(t, name) != name:
                    raise StanceError(f"{where}.groups: {t!r} is in both {seen[t]!r} and {name!r}")
        for pair in self.pairs:
            for name in pair:
                if name not in self.groups:
                    raise StanceError(f"{where}.pairs: {name!r} is not a group of {where}.groups")


@dataclass(frozen=True)
class LearningCurveParams:
    """``evaluate.learning_curve``: nested CV on a share of the training articles."""

    enabled: bool = _f(True, "bool", "compute the learning curve")
    fractions: list = _f([0.25, 0.5, 0.75, 1.0], "float_list", "shares of the training articles", min_len=1,
                         min=0.0, max=1.0, min_open=True)
    seeds: list = _f([0], "int_list", "outer-CV seeds of the curve", min_len=1)


@dataclass(frozen=True)
class EvaluateParams:
    """The ``evaluate`` section: repeated grouped CV, baselines, bootstrap."""

    seeds: list = _f([0, 1, 2, 3, 4], "int_list", "one grouped-CV repetition per seed", min_len=1)
    cv_folds: int = _f(5, "int", "outer grouped CV folds", min=2)
    inner_folds: int = _f(3, "int", "inner grouped CV folds (model selection inside each outer fold)", min=2)
    bootstrap: int = _f(1000, "int", "bootstrap replicates over articles", min=1)
    bootstrap_seed: int = _f(0, "int", "seed of the bootstrap", min=0)
    ci: float = _f(0.95, "float", "coverage of the intervals", min=0.0, max=1.0, min_open=True, max_open=True)
    n_jobs: int = _f(1, "int", "parallel fold fits (results do not depend on it)", min=1)
    lexicon: LexiconParams = _f(LexiconParams(), "section", "keyword-lexicon baseline")
    cross_source: CrossSourceParams = _f(CrossSourceParams(), "section", "cross-source evaluation")
    cross_target: CrossTargetParams = _f(CrossTargetParams(), "section", "cross-target evaluation")
    learning_curve: LearningCurveParams = _f(LearningCurveParams(), "section", "learning curve")
