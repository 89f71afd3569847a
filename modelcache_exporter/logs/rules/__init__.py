"""The parser profiles, as data: rules and their compiled table (`rules`), the built-in profiles
(`profiles`, `profiles_hub`), the configured sources and custom patterns (`sources`), and the pure
line helpers they and the interpreter share (`parse`). Nothing here holds state or does I/O.
"""
