"""`triagebot demo`: the whole loop on one machine (run), its narration and set-up, and the sample app."""
