"""The minimal-diff writer: `writer.apply_changes(text, filename, changes)` rewrites only what changed in one
namespace file (pure text, no Git). `locate` finds items with regular expressions (and follows an edited text
without a whole scan), `places` finds a key's item without a walk, `splicer` makes the edits, `patch` rewrites one
item field by field, `checks` validates what the write produces."""
