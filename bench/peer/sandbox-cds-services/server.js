const app = require('./index.js');

app.listen((process.env.PORT || 3000));
