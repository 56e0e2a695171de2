"""Deployment helpers: the Netlify build, the CloudFront distribution's parameters, and the
shared reading of the ``_redirects`` rules the build writes. Run from the repository root
(``python -m deploy.…``); nothing here is installed with the packages."""
