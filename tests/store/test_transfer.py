"""``plumetrace store copy``: a whole store into an empty one (SQLite onto SQLite or PostgreSQL), refused when the
target holds rows or the source is not a store; the audit chain verifies on the copy."""

from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.leads.audit import append, verify
from plumetrace.store import Store
from tests.leads.test_leads import insert_site

runner = CliRunner()


def test_copy_a_store_and_refuse_a_full_target(tmp_path, store_url):
    src_url = f"sqlite:///{tmp_path / 'field.db'}"
    src = Store(src_url)
    insert_site(src)
    append(src, "test.entry", "someone", "site:1", {"k": 1})
    src.add_plan("p1", "follow-up", 12.0, [[[52.1, 5.1], [52.1001, 5.1001]]])
    r = runner.invoke(app, ["store", "copy", "--from", src_url, "--to", store_url])
    assert r.exit_code == 0, r.output
    assert "copied" in r.stderr and "1 sites" in r.stderr
    dst = Store(store_url)
    assert dst.counts() == src.counts() and [s["id"] for s in dst.sites()] == [1]
    assert verify(dst).ok and verify(dst).entries == 1
    dst.add_plan("p2", "coverage", 20.0, [[[52.1, 5.1], [52.1002, 5.1002]]])  # a new id after the copied one
    assert [p["id"] for p in sorted(dst.plans(), key=lambda p: p["id"])] == [1, 2]
    again = runner.invoke(app, ["store", "copy", "--from", src_url, "--to", store_url])
    assert again.exit_code == 2 and "not empty" in again.stderr
    missing = runner.invoke(app, ["store", "copy", "--from", f"sqlite:///{tmp_path / 'nothing.db'}", "--to",
                                  f"sqlite:///{tmp_path / 'x.db'}"])
    assert missing.exit_code == 2 and "no such store file" in missing.stderr
    assert not (tmp_path / "nothing.db").exists()
