"""The theme engine as it was before issue #15 (k-means with k by silhouette, keyword labels,
"N answers about ..." summaries), kept only so `bench/themes.py` can print its figures next to
the current engine's in the same run. Not part of the bot; not to be changed."""
