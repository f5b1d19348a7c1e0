"""A person's data: the forgets still to finish (``tables.py``, ``finishing.py``). The export and
the forget themselves are core/features/person_data.py and core/features/person_forget.py."""
