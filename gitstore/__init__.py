"""Flagdeck's storage and domain model: Flipt-format documents on Git branches."""

# yaml_rs 0.1.6 crashes the process when it was first imported by a thread that has since ended (seen with the
# store's repository threads and Textual workers). Importing it here, with the package, makes the first import
# happen on whichever thread first touches gitstore, which in practice is the main thread. It costs ~4 ms.
import yaml_rs  # noqa: F401
