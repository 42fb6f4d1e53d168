"""Feature files as text: `yamlio` (YAML/JSON to plain data, fast), `limits` (what one file may hold),
`validation*` (Flipt's schema rules and references), `lines` and `yamlscan` (file and line for every finding),
`loader` (text to a `Document`, never raising), `serialize` and `yamlemit` (a `Document` back to Flipt-ordered data
and YAML)."""
