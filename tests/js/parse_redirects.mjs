// Parse a _redirects file with Netlify's own parser and print {redirects, errors} as JSON.
import { parseAllRedirects } from "@netlify/redirect-parser";

const result = await parseAllRedirects({
  redirectsFiles: [process.argv[2]],
  configRedirects: [],
  minimal: false,
});
process.stdout.write(JSON.stringify(result));
