"""The translation catalogs, installed as the package `bot._locales` (see setup.py).

This file only lets Python find this folder in an editable install; translators change the .po.
"""
