R
testcard8h’/tmp/out