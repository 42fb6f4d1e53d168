"""The minimal-diff writer: `writer.apply_changes(text, filename, changes)` rewrites only what changed in one
namespace file (pure text, no Git). `locate` finds items with regular expressions, `patch` rewrites one item field by
field, `checks` validates what the write produces."""
