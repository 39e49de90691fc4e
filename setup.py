from setuptools import setup

# scrapyd-deploy builds its egg through setup.py; the metadata lives in pyproject.toml
setup()
