"""The shipped content, installed as the package `bot._content` (see setup.py).

This file only lets Python find this folder in an editable install; editors change the YAML.
"""
