"""The fault suite (`make faults`): duban under the faults of issue 14, measured."""
