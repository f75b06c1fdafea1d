"""The bottom of the house: types every stage may import (nothing here imports a stage)."""
