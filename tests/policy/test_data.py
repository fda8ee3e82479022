"""The Opinion and the rules as data: complete, faithful where it must be, and validated with located errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy import PolicyDataError, load_policy
from policy.loader import OPINION_FILE, RULES_FILE, default_policy
from policy.model import TextModel, text_features
from policy.models import CATEGORIES
from policy.normalize import normalize
from policy.train import MODEL_FILE

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "policy-source" / "opinion-2019-en.txt"


def test_all_twenty_clauses_in_six_sections() -> None:
    policy = default_policy()
    assert sorted(policy.clauses) == list(range(1, 21))
    sections = {s.id: s.clauses for s in policy.opinion.section}
    assert sections == {
        "I": (1, 2, 3),
        "II": (4, 5, 6),
        "III": (7, 8, 9, 10, 11, 12),
        "IV": (13, 14, 15),
        "V": (16, 17),
        "VI": (18, 19, 20),
    }
    for c in policy.opinion.clause:
        assert c.id in sections[c.section]
        assert c.text_en.strip() and c.text_zh.strip() and c.title_zh and c.title_en
        assert c.quote_en in c.text_en, f"clause {c.id}: the quote is not taken from the clause"


def test_clause_categories_follow_the_eval_map() -> None:
    expected = {
        4: "supervision_inspection",
        5: "supervision_inspection",
        6: "supervision_inspection",
        7: "poverty_alleviation",
        8: "special_tasks",
        9: "city_evaluation",
        10: "community_affairs",
        11: "publicity",
        12: "unrelated_affairs",
        13: "forms_reports",
        14: "statistics_surveys",
        15: "data_collection",
        16: "teacher_borrowing",
        17: "training",
    }
    clauses = default_policy().clauses
    for n, cat in expected.items():
        assert clauses[n].category == cat


def test_document_identity_and_unofficial_note() -> None:
    doc = default_policy().opinion.document
    assert doc.date == "2019-12-15"
    assert "国务院办公厅" in doc.issuers_zh
    assert "非官方" in doc.note_zh and "unofficial" in doc.note_en


@pytest.mark.skipif(not SOURCE.is_file(), reason="shared/ policy source not beside the checkout")
def test_english_text_is_the_source_less_noise_and_marked_repairs() -> None:
    source = re.sub(r"\s+", " ", SOURCE.read_text(encoding="utf-8"))
    for c in default_policy().opinion.clause:
        text = re.sub(r"\s+", " ", c.text_en.strip())
        # Outside the marked repairs, every sentence fragment is the source's own words.
        for part in re.split(r"\[[^\]]*\]", text):
            for fragment in re.split(r"(?<=[.;:])\s", part):
                fragment = fragment.strip(" .,;")
                if len(fragment) > 25:
                    assert fragment in source, f"clause {c.id}: {fragment[:60]!r} is not in the source"
        assert ("[" in c.text_en) == bool(c.repairs), f"clause {c.id}: repairs and brackets disagree"
    noise = ("pk10", "Related manuscripts", "Font size", "Previous:")
    assert not any(n in c.text_en for c in default_policy().opinion.clause for n in noise)


def test_policy_version_is_a_hash_of_the_data(tmp_path: Path) -> None:
    a = load_policy()
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES_FILE.read_text(encoding="utf-8") + "\n# a comment changes the bytes\n", encoding="utf-8")
    b = load_policy(rules_file=rules)
    assert a.version != b.version
    assert load_policy().version == a.version


def _broken(tmp_path: Path, which: Path, old: str, new: str) -> Path:
    target = tmp_path / which.name
    shutil.copy(which, target)
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_unknown_field_names_file_and_clause(tmp_path: Path) -> None:
    bad = _broken(tmp_path, OPINION_FILE, "id = 7\n", "id = 7\nbogus = 1\n")
    with pytest.raises(PolicyDataError) as err:
        load_policy(opinion_file=bad)
    assert str(bad) in str(err.value) and "id=7" in str(err.value) and "bogus" in str(err.value)


def test_duplicate_clause_id(tmp_path: Path) -> None:
    bad = _broken(tmp_path, OPINION_FILE, "id = 8\n", "id = 7\n")
    with pytest.raises(PolicyDataError, match=r"clause id=7: duplicate id"):
        load_policy(opinion_file=bad)


def test_rule_naming_an_unknown_clause(tmp_path: Path) -> None:
    bad = _broken(tmp_path, RULES_FILE, "clause = 17\nfiles_under", "clause = 27\nfiles_under")
    with pytest.raises(PolicyDataError, match=r"signal id='viol.seat_filling': names unknown clause 27"):
        load_policy(rules_file=bad)


def test_rule_with_a_bad_pattern(tmp_path: Path) -> None:
    bad = _broken(tmp_path, RULES_FILE, '"坐满"', '"坐满("')
    with pytest.raises(PolicyDataError, match=r"viol.seat_filling.*bad pattern"):
        load_policy(rules_file=bad)


def test_every_category_has_a_rule_and_every_rule_clause_exists() -> None:
    policy = default_policy()
    assert set(policy.categories) == set(CATEGORIES)
    for rule in policy.categories.values():
        assert all(n in policy.clauses for n in rule.clauses)


def test_a_regional_layer_adds_patterns_on_top(tmp_path: Path) -> None:
    layer = tmp_path / "province.toml"
    layer.write_text(
        'layer = "province-x-2026"\napplies_to_policy = "opinion-2019"\nnegators_zh = []\nnegators_en = []\n'
        '[[signal]]\nid = "viol.unrelated_event"\nkind = "violation"\nclause = 12\nzh = ["舞龙表演"]\n',
        encoding="utf-8",
    )
    policy = load_policy(extra=(layer,))
    assert "舞龙表演" in policy.signals["viol.unrelated_event"].zh
    assert "庆典" in policy.signals["viol.unrelated_event"].zh
    assert policy.version.startswith("national+province-x-2026-")


def test_the_model_file_round_trips_and_predicts_the_same(tmp_path: Path) -> None:
    model = TextModel.load(MODEL_FILE)
    copy = tmp_path / "model.npz"
    model.save(copy)
    again = TextModel.load(copy)
    assert again.features == model.features and again.digest() == model.digest() == model.meta["digest"]
    grams = text_features("各校务必于周五前组织全体教师下载APP并截图上报")
    assert again.predict(grams, {"rv:refuse": 0.3}) == model.predict(grams, {"rv:refuse": 0.3})


def test_a_damaged_model_file_is_a_located_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(PolicyDataError, match=r"model\.npz: not a valid model file"):
        TextModel.load(bad)
    # A readable archive whose table does not fit its classes: one verdict column missing.
    model = TextModel.load(MODEL_FILE)
    with np.load(MODEL_FILE, allow_pickle=False) as archive:
        parts = {k: archive[k] for k in archive.files}
    np.savez_compressed(bad, **{**parts, "weights": parts["weights"][:, :-1]})
    with pytest.raises(PolicyDataError, match=r"do not match the classes"):
        TextModel.load(bad)
    np.savez_compressed(bad, **{**parts, "weights": parts["weights"].astype(np.float64)})
    with pytest.raises(PolicyDataError, match=r"float64"):
        TextModel.load(bad)
    bad.write_bytes(b"")
    with pytest.raises(PolicyDataError, match=r"not a valid model file"):
        TextModel.load(bad)
    # A flipped byte inside the compressed stream (zlib's error, not the zip's CRC check).
    damaged = bytearray(MODEL_FILE.read_bytes())
    damaged[100] ^= 0xFF
    bad.write_bytes(bytes(damaged))
    with pytest.raises(PolicyDataError, match=r"not a valid model file"):
        TextModel.load(bad)
    weights = parts["weights"].copy()
    weights[5, 3] = np.nan
    np.savez_compressed(bad, **{**parts, "weights": weights})
    with pytest.raises(PolicyDataError, match=r"not a finite number"):
        TextModel.load(bad)
    header = json.loads(parts["header"].tobytes())
    header["verdict_classes"][1] = header["verdict_classes"][0]
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(bad, **{**parts, "header": raw})
    with pytest.raises(PolicyDataError, match=r"expected distinct names"):
        TextModel.load(bad)
    last = parts["features"].tobytes().rindex(b"\0")
    np.savez_compressed(bad, **{**parts, "features": parts["features"][:last]})
    with pytest.raises(PolicyDataError, match=r"do not match the classes"):
        TextModel.load(bad)
    assert TextModel.load(MODEL_FILE).digest() == model.digest()


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_the_fast_gram_path_scores_exactly_like_the_named_features(raw: str) -> None:
    model = TextModel.load(MODEL_FILE)
    extra = {"rv:refuse": 0.3, "sig:task.app": 0.3}
    for text in (raw, normalize(raw).text):
        slow, fast = model.predict(text_features(text), extra), model.predict_text(text, extra)
        for a, b in zip(slow, fast, strict=True):
            assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-9 for k in a)


def test_the_fast_gram_path_on_the_corpus_and_edge_cases() -> None:
    model = TextModel.load(MODEL_FILE)
    lines = (Path(__file__).resolve().parents[1] / "corpus" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [normalize(json.loads(line)["text"]).text for line in lines[::7]]
    # "w:a" is a trigram and a word feature at once; NUL, line breaks and spaces alone are edge codes.
    texts += ["", "a", "review:a is a w:a", "\x00ab\x00", "\x01\n \x02", "中\n文 English words", "😀😀😀"]
    for text in texts:
        slow, fast = model.predict(text_features(text), {}), model.predict_text(text, {})
        assert all(abs(a[k] - b[k]) < 1e-9 for a, b in zip(slow, fast, strict=True) for k in a), text[:60]
