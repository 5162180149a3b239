"""Lua scripts, one file per operation, named ``<thing>_<verb>.lua``.

Read them only through ``batfriend.scripts``.
"""
