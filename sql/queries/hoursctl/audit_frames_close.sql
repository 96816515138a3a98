-- hoursctl audit verify: the cursor of evidence.c closed, its rows all read.
CLOSE audit_frames
