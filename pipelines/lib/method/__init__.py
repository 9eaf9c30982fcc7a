"""The official method's arithmetic that Python needs: the weighted CV and the what-if floor."""
