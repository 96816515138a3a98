# deploy/hoursd.yaml.sed - conf/hoursd.yaml (the development sample) made
# the installed configuration: `make install` pipes this script, @SYSCONFDIR@
# replaced, into sed -f - over the sample.  Every key stays as the sample
# documents it; only the header and the paths change: the certificates under
# SYSCONFDIR/hoursd/tls/ (a site's own, or hoursd-setup --trial-pki), the
# local PostgreSQL socket with peer authentication as the service user, the
# installed syllabus and the checkpoint key hoursd-setup makes.
1,/^$/c\
# hoursd.yaml - hoursd's configuration, as installed.\
#\
# Every key is listed with its default or the installed value; see\
# hoursd.yaml(5) or docs/configuration.md for types, bounds and which keys\
# a reload may change.  What a site supplies before hoursd starts (README.Debian,\
# docs/operations.md "Set up"):\
#   tls.cert, tls.key, tls.ca     its server certificate and the terminals' CA,\
#                                 under @SYSCONFDIR@/hoursd/tls/ (hoursd-setup --trial-pki\
#                                 makes a self-signed set for a trial);\
#   database.conninfo             the local PostgreSQL as the service user hoursd\
#                                 (peer authentication): hoursd-setup creates it;\
#   audit.checkpoint_key          hoursd's own key, made by hoursd-setup.\
# Check the file as the service reads it:\
#   runuser -u hoursd -- hoursd -t -c @SYSCONFDIR@/hoursd/hoursd.yaml\

s|scripts/pki.sh makes var/pki/checkpoint.key\.|hoursd-setup makes this one.|
s|var/pki/|@SYSCONFDIR@/hoursd/tls/|g
s|conninfo: "host=var/pg/run port=54329 dbname=hoursd"|conninfo: "host=/run/postgresql dbname=hoursd user=hoursd"|
s|Required\. A host= that is a$|Required. Here the local|
s|# relative path (a socket directory) is taken from the working directory\.|# server's socket as the role hoursd, by peer authentication (docs/operations.md).|
s|checkpoint_key: ""|checkpoint_key: @SYSCONFDIR@/hoursd/tls/checkpoint.key|
s|  # /etc/hoursd/syllabus.yaml; here the source tree's own).|  # @SYSCONFDIR@/hoursd/syllabus.yaml).|
s|syllabus: conf/syllabus.yaml|syllabus: @SYSCONFDIR@/hoursd/syllabus.yaml|
