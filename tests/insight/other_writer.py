"""A second process editing the store: `python other_writer.py CONFIG FLAG FIELDS_JSON "NAME <EMAIL>"` commits the
flag with the given fields changed, through the real Store, and prints the new commit id."""

from __future__ import annotations

import json
import sys

from app.authors import parse_author
from gitstore.config import load_config
from gitstore.model.changes import Change, Kind
from gitstore.store import Author, Store


def main(config: str, flag_key: str, fields: str, who: str) -> None:
    with Store(load_config(config)) as store:
        env = store.config.default_environment
        snap = store.snapshot(env)
        flag = snap.document("default").flag(flag_key)
        change = Change("default", Kind.FLAG, flag_key, flag.model_copy(update=json.loads(fields)))
        result = store.commit(env, [change], Author(*parse_author(who)), snap.commit)
        print(result.commit)


if __name__ == "__main__":
    main(*sys.argv[1:5])
