import os.path as osp
import sys

# Make tests/fixtures.py importable from every test folder.
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
