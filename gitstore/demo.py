"""`flagdeck init`: a working setup to start from: `flagdeck.yaml` plus a Git repository with two environments
(production and staging, as directories of one repository) holding a realistic demo namespace."""

from __future__ import annotations

from pathlib import Path

import pygit2

from gitstore.errors import ConfigError
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import README, build_tree, cas_ref, make_commit, open_repository
from gitstore.results import Author

DEMO_AUTHOR = Author("Flagdeck", "flagdeck@localhost")

CONFIG = """\
# Flagdeck configuration (see `flagdeck --help`). Relative paths are relative to this file.
storage:
  local:
    path: repo                # a Git repository (bare); created if missing
    branch: main
    remote: null              # or a URL: file:///srv/flags.git, git://host/flags.git, ssh or https
    poll_interval: 1s
    timeout: 20s              # give up on a remote that does not answer (the commit stays local)
environments:
  production: {storage: local, directory: production, default: true}
  staging: {storage: local, directory: staging}
authentication:
  required: false
  exclude: {evaluation: false, ofrep: false}
  tokens: {}
"""

FEATURES = """\
# Demo namespace of the {env} environment. Edit it with `flagdeck console`, or by hand:
# Flagdeck keeps your comments and formatting when it writes.
version: "1.6"
namespace:
  key: default
  name: Default
  description: Flags of the demo storefront
flags:
  # A plain kill switch.
  - key: maintenance-mode
    name: Maintenance mode
    type: BOOLEAN_FLAG_TYPE
    description: Show the maintenance page instead of the shop
    enabled: false
  # Rolled out to staff first, then to a share of everybody else.
  - key: new-checkout
    name: New checkout
    type: BOOLEAN_FLAG_TYPE
    description: The redesigned one-page checkout
    enabled: {checkout_enabled}
    rollouts:
      - description: Staff always get it
        segment:
          key: internal-users
          value: true
      - description: A share of everybody else
        threshold:
          percentage: {checkout_percentage}
          value: true
  - key: color-theme
    name: Color theme
    type: VARIANT_FLAG_TYPE
    description: Which colour theme the web shop uses
    enabled: true
    variants:
      - key: light
        name: Light
        default: true
      - key: dark
        name: Dark
        attachment:
          background: "#111827"
          foreground: "#f9fafb"
      - key: "on"
        name: High contrast
    rules:
      - segment: internal-users
        distributions:
          - variant: dark
            rollout: 100
      - segment:
          keys: [beta-testers, mobile-users]
          operator: AND_SEGMENT_OPERATOR
        distributions:
          - variant: dark
            rollout: 50
          - variant: light
            rollout: 50
  - key: search-ranking
    name: Search ranking
    type: VARIANT_FLAG_TYPE
    description: Ranking algorithm experiment
    enabled: {search_enabled}
    metadata:
      owner: search-team
    variants:
      - key: classic
        name: Classic
        default: true
      - key: semantic
        name: Semantic
    rules:
      - segment: large-accounts
        distributions:
          - variant: semantic
            rollout: 25
          - variant: classic
            rollout: 75
segments:
  - key: internal-users
    name: Internal users
    description: Staff, by e-mail domain or by an explicit list of ids
    match_type: ANY_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: email
        operator: suffix
        value: "@example.com"
      - type: ENTITY_ID_COMPARISON_TYPE
        property: entityId
        operator: isoneof
        value: ["admin", "qa-1", "qa-2"]
  - key: beta-testers
    name: Beta testers
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: BOOLEAN_COMPARISON_TYPE
        property: beta
        operator: "true"
      - type: DATETIME_COMPARISON_TYPE
        property: signed_up
        operator: lt
        value: "2026-01-01T00:00:00Z"
  - key: mobile-users
    name: Mobile users
    match_type: ANY_MATCH_TYPE
    constraints:
      - type: STRING_COMPARISON_TYPE
        property: platform
        operator: isoneof
        value: ["ios", "android"]
  - key: large-accounts
    name: Large accounts
    match_type: ALL_MATCH_TYPE
    constraints:
      - type: NUMBER_COMPARISON_TYPE
        property: seats
        operator: gte
        value: "100"
      - type: STRING_COMPARISON_TYPE
        property: plan
        operator: neq
        value: free
"""

ENVIRONMENTS = {
    "production": {"env": "production", "checkout_enabled": "true", "checkout_percentage": "10",
                   "search_enabled": "false"},
    "staging": {"env": "staging", "checkout_enabled": "true", "checkout_percentage": "100",
                "search_enabled": "true"},
}


def demo_features(environment: str) -> str:
    text = FEATURES
    for key, value in ENVIRONMENTS[environment].items():
        text = text.replace("{" + key + "}", value)
    return text


def init_demo(directory: str | Path, force: bool = False) -> Path:
    """Write `<directory>/flagdeck.yaml` and the repository `<directory>/repo`; returns the config's path.
    Refuses to overwrite an existing configuration unless `force`."""
    root = Path(directory).resolve()
    config = root / "flagdeck.yaml"
    if config.exists() and not force:
        raise ConfigError(f"{config}: already exists (nothing was changed)")
    repo_path = root / "repo"
    if repo_path.exists() and any(repo_path.iterdir()) and not force:
        raise ConfigError(f"{repo_path}: already exists (nothing was changed)")
    root.mkdir(parents=True, exist_ok=True)
    repo = open_repository(repo_path)
    repo.set_head(branch_ref("main"))
    files: dict[str, bytes | None] = {"README.md": README}
    for env in ENVIRONMENTS:
        files[f"{env}/default/features.yaml"] = demo_features(env).encode("utf-8")
    tree = build_tree(repo, None, files)
    current = tip(repo, branch_ref("main"))
    parents: list[pygit2.Oid] = [current] if current is not None else []
    commit = make_commit(repo, tree, parents, DEMO_AUTHOR, "create namespace default\n\nFlagdeck demo data.")
    cas_ref(repo, branch_ref("main"), current, commit, "flagdeck init")
    config.write_text(CONFIG, encoding="utf-8")
    return config
